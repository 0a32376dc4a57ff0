//! Source kind `goszakup`: Kazakhstan's procurement portal through its open web service
//! (GraphQL v3, the only structured route to attachments; REST v3 for the change journal).
//! Needs a Bearer token.
//!
//! # Incremental crawling and the cursor
//! A run has two phases:
//! 1. GraphQL `TrdBuy(filter: {lastUpdateDate: [from, to]}, limit, after)` with nested `Lots`
//!    and `Files`, paged with `after: lastId` until `hasNextPage` is false (a `lastId` that does
//!    not move is a [`SourceError::StuckCursor`]).
//! 2. REST `/v3/journal?date_from=&date_to=` over the same window, following `next_page` until
//!    `""`: announcements the journal says changed (action "U", service trd-buy) that phase 1
//!    did not yield are fetched whole by id through GraphQL. An HTML page where JSON was
//!    expected ends the journal softly (logged), as it has been seen past the last page.
//!
//! The cursor is JSON in portal local time (Asia/Almaty):
//! `{"from":"2026-11-20 00:00:00","after":17163708,"started":"2026-11-28 18:00:00","phase":"graphql"}`
//! (`"phase":"journal","next":"/v3/journal?page=next&search_after=…"` in phase 2).
//! - First run: `from` is `lookback_days` before today (or `--since`), `after` is null.
//! - Each page's cursor says where to resume, so a killed run repeats at most one page; a
//!   resumed crawl keeps the `started` of the crawl it continues.
//! - The last page's cursor is `{"from": <start of this crawl - 1 h>, "after": null}`: the next
//!   run fetches what was published or changed since this crawl began (a new notice has a
//!   lastUpdateDate too), so changed and cancelled notices come back and are updated in place.
//! - `--since` (spec.since) ignores the saved cursor and starts a fresh crawl from that day.
//!
//! # Contracts
//! With `contracts = true` (the default) a third phase follows the journal: GraphQL
//! `Contract(filter: {lastUpdateDate: [from, to]}, limit, after)` with `File`,
//! `ContractUnits { Plans }`, `FaktTradeMethods` and `RefContractStatus`, paged like `TrdBuy`.
//! Its cursor is its own, nested in the source's: `"contracts":{"from":…,"after":…}`
//! (`"phase":"contracts"` while it runs), saved with each page; the last page moves both
//! `from`s to the start of this crawl less the hour. A contract of an announcement
//! (`trdBuyId`) is an award of that notice ([`NoticeRecord::attach`]); a contract without one
//! is a notice `contract-{id}` ([`map::CONTRACT_ID_PREFIX`]), with its documents.
//!
//! # Plans
//! With `plans = true` (default false) a fourth phase follows: GraphQL
//! `Plans(filter: {timestamp: [from, to]}, limit, after)`, the annual plan points, paged
//! like the others with a cursor of its own (`"plans":{"from":…,"after":…}`,
//! `"phase":"plans"`). Each plan point is a notice of kind `plan`, `plan-{id}`
//! ([`map::PLAN_ID_PREFIX`]); announcements (their lots' `Plans`) and contracts (their units'
//! `Plans`) name the plan points they follow.
//!
//! # A bounded crawl
//! `spec.until` (`backfill --until`) ends every root's window at the end of that day
//! instead of tomorrow, and skips the change journal: the listing by `lastUpdateDate`
//! covers the period, and a resumed backfill would fetch by id every announcement the
//! journal names that the listing had already brought before the kill.
//!
//! Must never: log the token, save a cursor ahead of the records it covers, or let a
//! contract's id collide with an announcement's.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use url::Url;

use super::util::{Start, bad_cursor, encode_cursor, looks_like_html};
use super::{
    Page, PageFuture, Recheck, RecheckFuture, Source, SourceError, SourceSpec, fetch_err, join,
    value_to_string,
};
use crate::fetch::Fetcher;
use crate::model::{NoticeRecord, Payload};

mod map;
pub use map::{CONTRACT_ID_PREFIX, PLAN_ID_PREFIX};
pub(crate) use map::{agency, map_contract, map_plan, map_trd_buy};
pub use map::{buy_status_name, trade_method_name};

/// The OWS host and the host of the attachments (`filePath`).
pub const DEFAULT_HOSTS: &[&str] = &["ows.goszakup.gov.kz", "v3bl.goszakup.gov.kz"];
/// Records per GraphQL page (the API allows up to 200; nested lots and files make pages heavy).
pub const PAGE_LIMIT: u32 = 50;
/// The portal's zone: its times carry no offset ("2026-04-15 22:46:05"). Almaty was UTC+6
/// until 2024-03-01 00:00 and is UTC+5 since; chrono-tz knows both.
pub const ZONE: chrono_tz::Tz = chrono_tz::Asia::Almaty;
/// Public page of a notice.
pub const NOTICE_URL: &str = "https://goszakup.gov.kz/ru/announce/index/";
/// Public page of a contract.
pub const CONTRACT_URL: &str = "https://goszakup.gov.kz/ru/egzcontract/cpublic/show/";
/// An incremental run starts this long before the previous crawl began (clock skew, slow index).
const OVERLAP: chrono::Duration = chrono::Duration::hours(1);
const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

const FILES_FIELDS: &str = "id nameRu nameKz originalName filePath objectId";

fn query() -> String {
    format!(
        "query($filter: TrdBuyFiltersInput, $limit: Int, $after: Int) {{ \
         TrdBuy(filter: $filter, limit: $limit, after: $after) {{ \
         id numberAnno nameRu nameKz totalSum countLots refTradeMethodsId refSubjectTypeId \
         customerBin customerNameRu customerNameKz orgBin orgNameRu orgNameKz refBuyStatusId \
         startDate endDate publishDate itogiDatePublic \
         RefBuyStatus {{ id nameRu nameKz code }} \
         Files {{ {FILES_FIELDS} }} \
         Lots {{ id lotNumber nameRu nameKz descriptionRu descriptionKz amount count \
         refLotStatusId customerBin customerNameRu lastUpdateDate \
         RefLotsStatus {{ id nameRu code }} Files {{ {FILES_FIELDS} }} \
         Plans {{ id refEnstruCode }} }} }} }}"
    )
}

/// The query of the `Contract` root.
fn contract_query() -> String {
    "query($filter: ContractFiltersInput, $limit: Int, $after: Int) { \
     Contract(filter: $filter, limit: $limit, after: $after) { \
     id parentId rootId trdBuyId trdBuyNumberAnno trdBuyNameRu trdBuyNameKz \
     refContractStatusId deleted crdate lastUpdateDate supplierId supplierBiin \
     supplierLegalAddress contractNumber contractNumberSys customerBin refSubjectTypeId \
     finYear refCurrencyCode contractSum contractSumWnds signDate contractEndDate \
     refContractCancelId descriptionRu descriptionKz faktTradeMethodsId \
     FaktTradeMethods { nameRu } RefContractStatus { nameRu } \
     File { nameRu filePath originalName } \
     ContractUnits { id itemPrice quantity totalSum \
     Plans { id nameRu descRu extraDescRu refEnstruCode } } } }"
        .to_string()
}

/// The query of the `Plans` root.
fn plans_query() -> String {
    "query($filter: PlansFiltersInput, $limit: Int, $after: Int) { \
     Plans(filter: $filter, limit: $limit, after: $after) { \
     id subjectBiin subjectNameRu subjectNameKz nameRu nameKz descRu descKz extraDescRu \
     extraDescKz refEnstruCode refTradeMethodsId refSubjectTypeId count price amount \
     plnPointYear refPlnPointStatusId timestamp } }"
        .to_string()
}

/// The GraphQL roots this source reads.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Root {
    TrdBuy,
    Contract,
    Plans,
}

/// The `Contract` root's own place: its `lastUpdateDate` lower bound and `after`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct RootCursor {
    from: String,
    #[serde(default)]
    after: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Cursor {
    /// Lower bound of `lastUpdateDate`, Almaty local time.
    from: String,
    /// GraphQL `after` (the previous page's `lastId`), opaque.
    #[serde(default)]
    after: Option<Value>,
    /// When the crawl that `after` belongs to began (Almaty local time).
    #[serde(default)]
    started: Option<String>,
    /// The GraphQL listing, then the REST change journal.
    #[serde(default)]
    phase: Phase,
    /// Journal phase: the `next_page` to read (none: its first page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    /// The `Contract` root's cursor (none before its first crawl: it starts at `from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    contracts: Option<RootCursor>,
    /// The `Plans` root's cursor (none before its first crawl: it starts at `from`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    plans: Option<RootCursor>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Phase {
    #[default]
    Graphql,
    Journal,
    Contracts,
    Plans,
}

struct GqlAnswer {
    items: Vec<Value>,
    page_info: Option<PageInfo>,
    url: Url,
    /// The answer as it came: the evidence of the records read from it.
    payload: Payload,
}

/// A REST list envelope (`{"total", "limit", "next_page", "items"}`), either key style.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RestList {
    #[serde(alias = "nextPage")]
    next_page: Option<String>,
    items: Vec<Value>,
}

fn parse_rest_list(content_type: Option<&str>, body: &[u8]) -> Result<RestList, String> {
    if looks_like_html(content_type, body) {
        return Err("an HTML page where JSON was expected".into());
    }
    serde_json::from_slice(body).map_err(|e| format!("not a REST list: {e}"))
}

/// The announcement id a journal entry is about (`service_name` trd-buy, or a `url` to
/// `/trd-buy/{id}`); deletions and other services are skipped.
fn journal_trd_buy_id(item: &Value) -> Option<String> {
    let get = |snake: &str, camel: &str| item.get(snake).or_else(|| item.get(camel)).cloned();
    let action = get("action", "action")
        .and_then(value_to_string)
        .unwrap_or_default();
    if action.eq_ignore_ascii_case("D") {
        return None;
    }
    let url = get("url", "url")
        .and_then(value_to_string)
        .unwrap_or_default();
    if let Some(rest) = url.split("/trd-buy/").nth(1) {
        let id: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !id.is_empty() {
            return Some(id);
        }
    }
    let service: String = get("service_name", "serviceName")
        .and_then(value_to_string)
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    if service == "trdbuy" {
        return get("object_id", "objectId").and_then(value_to_string);
    }
    None
}

pub struct Goszakup {
    name: String,
    base: Url,
    graphql: Url,
    token: String,
    cursor: Cursor,
    /// Upper bound of `lastUpdateDate`.
    to: String,
    started: NaiveDateTime,
    /// Announcements yielded in this run (the journal skips them).
    yielded: HashSet<String>,
    /// `contracts`: crawl the `Contract` root after the journal.
    contracts: bool,
    /// `plans`: crawl the `Plans` root last.
    plans: bool,
    /// Read the change journal (not in a bounded crawl, a backfill: its window's listing by
    /// `lastUpdateDate` covers the period, and after a resume the journal would name again,
    /// each to be fetched by id, the announcements the listing already brought).
    journal: bool,
    /// Supplier names by BIN, looked up in this run (`None`: the portal did not say).
    subjects: HashMap<String, Option<(String, Payload)>>,
    finished: bool,
}

impl Goszakup {
    pub fn open(spec: &SourceSpec, saved_cursor: Option<&str>) -> Result<Goszakup, SourceError> {
        Self::open_at(spec, saved_cursor, almaty_now())
    }

    /// `now` is the portal's local time at the start of this crawl.
    fn open_at(
        spec: &SourceSpec,
        saved_cursor: Option<&str>,
        now: NaiveDateTime,
    ) -> Result<Goszakup, SourceError> {
        let name = spec.config.name.clone();
        let token = spec
            .token
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| SourceError::MissingToken { name: name.clone() })?
            .to_string();
        let graphql =
            join(&spec.config.url, "v3/graphql").map_err(|message| SourceError::Config {
                name: name.clone(),
                message,
            })?;
        let fresh = |day: NaiveDate| Cursor {
            from: day
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default()
                .format(TIME_FORMAT)
                .to_string(),
            after: None,
            started: None,
            phase: Phase::Graphql,
            next: None,
            contracts: None,
            plans: None,
        };
        let mut cursor = match super::util::start::<Cursor>(spec, saved_cursor, now.date())? {
            Start::Fresh(day) => fresh(day),
            Start::Resume(c) => {
                if NaiveDateTime::parse_from_str(&c.from, TIME_FORMAT).is_err() {
                    return Err(bad_cursor(
                        &name,
                        saved_cursor.unwrap_or_default(),
                        format!("`from` is not {TIME_FORMAT}"),
                    ));
                }
                c
            }
        };
        let (contracts, plans) = match &spec.config.kind {
            crate::config::SourceKind::Goszakup(s) => (s.contracts, s.plans),
            _ => (true, false),
        };
        for (what, root) in [
            ("contracts", &mut cursor.contracts),
            ("plans", &mut cursor.plans),
        ] {
            let c = root.get_or_insert_with(|| RootCursor {
                from: cursor.from.clone(),
                after: None,
            });
            if NaiveDateTime::parse_from_str(&c.from, TIME_FORMAT).is_err() {
                return Err(bad_cursor(
                    &name,
                    saved_cursor.unwrap_or_default(),
                    format!("`{what}.from` is not {TIME_FORMAT}"),
                ));
            }
        }
        // A resumed crawl keeps the start of the crawl it continues.
        let started = cursor
            .started
            .as_deref()
            .filter(|_| cursor.after.is_some() || cursor.phase != Phase::Graphql)
            .and_then(|s| NaiveDateTime::parse_from_str(s, TIME_FORMAT).ok())
            .unwrap_or(now);
        let to = match spec.until {
            Some(day) => day.and_hms_opt(23, 59, 59).unwrap_or_default(),
            None => now + chrono::Duration::days(1),
        }
        .format(TIME_FORMAT)
        .to_string();
        Ok(Goszakup {
            name,
            base: spec.config.url.clone(),
            graphql,
            token,
            cursor,
            to,
            started,
            yielded: HashSet::new(),
            contracts,
            plans,
            journal: spec.until.is_none(),
            subjects: HashMap::new(),
            finished: false,
        })
    }

    async fn fetch_page(&mut self, fetcher: &Fetcher) -> Result<Option<Page>, SourceError> {
        if self.finished {
            return Ok(None);
        }
        match self.cursor.phase {
            Phase::Graphql => self.listing_page(fetcher).await.map(Some),
            Phase::Journal => self.journal_page(fetcher).await.map(Some),
            Phase::Contracts if self.contracts => {
                self.root_page(fetcher, Root::Contract).await.map(Some)
            }
            Phase::Plans if self.plans => self.root_page(fetcher, Root::Plans).await.map(Some),
            // Switched off between a crawl's phases: go on to the next one.
            Phase::Contracts | Phase::Plans => {
                let done = self.after_phase(self.cursor.phase);
                Ok(Some(Page {
                    records: Vec::new(),
                    cursor: Some(self.cursor_string()),
                    done,
                }))
            }
        }
    }

    /// The phase after `phase` that is switched on, or the crawl's end (`true`).
    fn after_phase(&mut self, phase: Phase) -> bool {
        let next = match phase {
            Phase::Graphql if self.journal => Some(Phase::Journal),
            Phase::Graphql if self.contracts => Some(Phase::Contracts),
            Phase::Graphql if self.plans => Some(Phase::Plans),
            Phase::Journal if self.contracts => Some(Phase::Contracts),
            Phase::Journal | Phase::Contracts if self.plans => Some(Phase::Plans),
            _ => None,
        };
        match next {
            Some(p) => {
                self.cursor.phase = p;
                self.cursor.next = None;
                self.cursor.started = Some(self.started.format(TIME_FORMAT).to_string());
                false
            }
            None => {
                self.finish();
                true
            }
        }
    }

    /// One page of `TrdBuy` changed since `from`.
    async fn listing_page(&mut self, fetcher: &Fetcher) -> Result<Page, SourceError> {
        let mut vars = json!({
            "filter": { "lastUpdateDate": [self.cursor.from, self.to] },
            "limit": PAGE_LIMIT,
        });
        if let Some(after) = &self.cursor.after {
            vars["after"] = after.clone();
        }
        let answer = self.graphql(fetcher, Root::TrdBuy, vars).await?;
        let records = self.map_items(&answer.items, &[&answer.payload]);
        match self.next_after(&answer, self.cursor.after.as_ref())? {
            Some(last) => self.cursor.after = Some(last),
            None => {
                self.cursor.after = None;
                let done = self.after_phase(Phase::Graphql);
                return Ok(Page {
                    records,
                    cursor: Some(self.cursor_string()),
                    done,
                });
            }
        }
        self.cursor.started = Some(self.started.format(TIME_FORMAT).to_string());
        Ok(Page {
            records,
            cursor: Some(self.cursor_string()),
            done: false,
        })
    }

    /// One page of the REST change journal: announcements changed in the window that the
    /// listing did not yield (a change to a lot or file may leave the announcement's
    /// lastUpdateDate alone), each fetched whole through GraphQL by id.
    async fn journal_page(&mut self, fetcher: &Fetcher) -> Result<Page, SourceError> {
        let url = match &self.cursor.next {
            // `next_page` is a path and query on the API host.
            Some(next) => self.rest_url(next)?,
            None => {
                let mut url = self.rest_url("v3/journal")?;
                url.query_pairs_mut()
                    .append_pair("date_from", self.cursor.from.get(..10).unwrap_or_default())
                    .append_pair("date_to", self.to.get(..10).unwrap_or_default());
                url
            }
        };
        let resp = fetcher
            .get(&url, &self.headers())
            .await
            .map_err(fetch_err(&self.name))?;
        let list = match parse_rest_list(resp.content_type.as_deref(), &resp.body) {
            Ok(list) => list,
            Err(what) => {
                // Seen past the last page: a soft end, logged, never a crash.
                tracing::error!(source = %self.name, url = %resp.url, what, "journal page unreadable; journal ends here");
                RestList::default()
            }
        };
        let next = list.next_page.filter(|n| !n.trim().is_empty());
        if next.is_some() && next == self.cursor.next {
            return Err(SourceError::StuckCursor {
                name: self.name.clone(),
                cursor: self.cursor_string(),
            });
        }
        let mut ids = Vec::new();
        for item in &list.items {
            if let Some(id) = journal_trd_buy_id(item)
                && !self.yielded.contains(&id)
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
        // Fetch everything first and only then touch `self`, so a cancelled call changes nothing.
        let journal = resp.payload();
        let mut answers = Vec::new();
        for id in ids {
            let id_value = id
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or(Value::from(id.clone()));
            let answer = self
                .graphql(
                    fetcher,
                    Root::TrdBuy,
                    json!({ "filter": { "id": id_value }, "limit": 1 }),
                )
                .await?;
            if answer.items.is_empty() {
                tracing::warn!(source = %self.name, notice = %id, "journal names an announcement GraphQL does not return");
            }
            answers.push(answer);
        }
        // Each record's evidence: the journal page that named it and the answer it came in.
        let mut records = Vec::new();
        for answer in &answers {
            records.extend(self.map_items(&answer.items, &[&journal, &answer.payload]));
        }
        let done = if next.is_none() {
            // The contracts' or plans' phase follows, from their own cursor.
            self.after_phase(Phase::Journal)
        } else {
            self.cursor.next = next;
            self.cursor.started = Some(self.started.format(TIME_FORMAT).to_string());
            false
        };
        Ok(Page {
            records,
            cursor: Some(self.cursor_string()),
            done,
        })
    }

    /// The cursor of the next crawl: every root crawled from the start of this one, less
    /// the hour; a root switched off keeps where it stood, for the day it is switched on.
    fn finish(&mut self) {
        let from = (self.started - OVERLAP).format(TIME_FORMAT).to_string();
        let moved = |on: bool, at: &Option<RootCursor>| {
            if on {
                RootCursor {
                    from: from.clone(),
                    after: None,
                }
            } else {
                at.clone().unwrap_or(RootCursor {
                    from: from.clone(),
                    after: None,
                })
            }
        };
        let contracts = moved(self.contracts, &self.cursor.contracts);
        let plans = moved(self.plans, &self.cursor.plans);
        self.cursor = Cursor {
            from,
            after: None,
            started: None,
            phase: Phase::Graphql,
            next: None,
            contracts: Some(contracts),
            plans: Some(plans),
        };
        self.finished = true;
    }

    /// One page of `Contract` (changed since the contracts' own `from`) or of `Plans`
    /// (their `timestamp` since the plans' own `from`).
    async fn root_page(&mut self, fetcher: &Fetcher, root: Root) -> Result<Page, SourceError> {
        fn slot(c: &mut Cursor, root: Root) -> &mut Option<RootCursor> {
            match root {
                Root::Plans => &mut c.plans,
                _ => &mut c.contracts,
            }
        }
        let at = slot(&mut self.cursor, root).clone().unwrap_or(RootCursor {
            from: self.cursor.from.clone(),
            after: None,
        });
        let field = match root {
            Root::Plans => "timestamp",
            _ => "lastUpdateDate",
        };
        let mut vars = json!({
            "filter": { field: [at.from, self.to] },
            "limit": PAGE_LIMIT,
        });
        if let Some(after) = &at.after {
            vars["after"] = after.clone();
        }
        let answer = self.graphql(fetcher, root, vars).await?;
        let mut records = Vec::with_capacity(answer.items.len());
        for item in &answer.items {
            let rec = match root {
                Root::Plans => map_plan(item),
                _ => map_contract(item),
            };
            match rec {
                Some(mut rec) => {
                    rec.payloads = vec![answer.payload.clone()];
                    records.push(rec);
                }
                None => tracing::warn!(source = %self.name, "{root:?} item without an id skipped"),
            }
        }
        let next = self.next_after(&answer, at.after.as_ref())?;
        if root == Root::Contract {
            self.name_suppliers(fetcher, &mut records).await;
        }
        let done = match next {
            Some(last) => {
                *slot(&mut self.cursor, root) = Some(RootCursor {
                    from: at.from,
                    after: Some(last),
                });
                self.cursor.started = Some(self.started.format(TIME_FORMAT).to_string());
                false
            }
            None => self.after_phase(self.cursor.phase),
        };
        Ok(Page {
            records,
            cursor: Some(self.cursor_string()),
            done,
        })
    }

    /// Contracts name their supplier by BIN only: its name comes from REST
    /// `/v3/subject/biin/{bin}` (once per BIN and run), whose answer joins the evidence of the
    /// records it named. A subject the portal does not answer for leaves the name unknown
    /// (logged); the contract is stored all the same.
    async fn name_suppliers(&mut self, fetcher: &Fetcher, records: &mut [NoticeRecord]) {
        for rec in records.iter_mut() {
            for award in &mut rec.awards {
                for sup in &mut award.suppliers {
                    if sup.name.is_some() || sup.scheme != "KZ-BIN" {
                        continue;
                    }
                    if !self.subjects.contains_key(&sup.id) {
                        let found = self.subject(fetcher, &sup.id).await;
                        self.subjects.insert(sup.id.clone(), found);
                    }
                    if let Some(Some((name, payload))) = self.subjects.get(&sup.id) {
                        sup.name = Some(name.clone());
                        if !rec.payloads.iter().any(|p| p.url == payload.url) {
                            rec.payloads.push(payload.clone());
                        }
                    }
                }
            }
        }
    }

    async fn subject(&self, fetcher: &Fetcher, bin: &str) -> Option<(String, Payload)> {
        if bin.is_empty() || !bin.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let url = self.rest_url(&format!("v3/subject/biin/{bin}")).ok()?;
        let resp = match fetcher.get(&url, &self.headers()).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(source = %self.name, bin, error = %e, "supplier not named: the subject lookup failed");
                return None;
            }
        };
        if looks_like_html(resp.content_type.as_deref(), &resp.body) {
            tracing::warn!(source = %self.name, url = %resp.url, "supplier not named: an HTML page where JSON was expected");
            return None;
        }
        let v: Value = serde_json::from_slice(&resp.body).ok()?;
        // The object itself, or a list envelope around it.
        let obj = v.get("items").and_then(|i| i.get(0)).cloned().unwrap_or(v);
        let name = ["name_ru", "nameRu", "name_kz", "nameKz"]
            .iter()
            .find_map(|k| obj.get(*k).cloned().and_then(value_to_string))
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())?;
        Some((name, resp.payload()))
    }

    /// Where the page after `answer` starts (`None`: it was the last), or why paging stops.
    fn next_after(
        &self,
        answer: &GqlAnswer,
        previous: Option<&Value>,
    ) -> Result<Option<Value>, SourceError> {
        let has_next = match &answer.page_info {
            Some(p) => p.has_next_page.unwrap_or(false),
            None if answer.items.len() >= PAGE_LIMIT as usize => {
                return Err(SourceError::ChangedFormat {
                    name: self.name.clone(),
                    url: answer.url.to_string(),
                    what: "no extensions.pageInfo on a full page".into(),
                });
            }
            None => false,
        };
        if !has_next {
            return Ok(None);
        }
        let last = answer
            .page_info
            .as_ref()
            .and_then(|p| p.last_id.clone())
            .filter(|v| !v.is_null());
        match last.filter(|l| Some(l) != previous) {
            Some(l) => Ok(Some(l)),
            None => Err(SourceError::StuckCursor {
                name: self.name.clone(),
                cursor: self.cursor_string(),
            }),
        }
    }

    fn headers(&self) -> [(&'static str, String); 2] {
        [
            ("Authorization", format!("Bearer {}", self.token)),
            ("Accept", "application/json".to_string()),
        ]
    }

    /// The records of `items`, each with the responses it was read from.
    fn map_items(&mut self, items: &[Value], payloads: &[&Payload]) -> Vec<NoticeRecord> {
        let mut records = Vec::with_capacity(items.len());
        for item in items {
            match map_trd_buy(item) {
                Some(mut rec) => {
                    self.yielded.insert(rec.external_id.clone());
                    rec.payloads = payloads.iter().map(|p| (*p).clone()).collect();
                    records.push(rec);
                }
                None => tracing::warn!(source = %self.name, "TrdBuy item without an id skipped"),
            }
        }
        records
    }

    /// A relative path (`v3/journal`) under the base URL, or an absolute `next_page`
    /// (`/v3/journal?page=next&…`) on the API host.
    fn rest_url(&self, path_and_query: &str) -> Result<Url, SourceError> {
        let base = &self.base;
        let joined = if path_and_query.starts_with('/') {
            base.join(path_and_query)
                .map_err(|e| format!("cannot join {path_and_query:?} to {base}: {e}"))
        } else {
            join(base, path_and_query)
        };
        joined.map_err(|message| SourceError::Config {
            name: self.name.clone(),
            message,
        })
    }

    /// POSTs a `TrdBuy` or `Contract` query; GraphQL errors, HTML and other shapes are errors.
    async fn graphql(
        &self,
        fetcher: &Fetcher,
        root: Root,
        variables: Value,
    ) -> Result<GqlAnswer, SourceError> {
        let q = match root {
            Root::TrdBuy => query(),
            Root::Contract => contract_query(),
            Root::Plans => plans_query(),
        };
        let body = json!({ "query": q, "variables": variables });
        let resp = fetcher
            .post_json(&self.graphql, &self.headers(), &body)
            .await
            .map_err(fetch_err(&self.name))?;
        let changed = |what: String| SourceError::ChangedFormat {
            name: self.name.clone(),
            url: resp.url.to_string(),
            what,
        };
        if looks_like_html(resp.content_type.as_deref(), &resp.body) {
            return Err(changed(
                "an HTML page where GraphQL JSON was expected".into(),
            ));
        }
        let parsed: GqlResponse = serde_json::from_slice(&resp.body)
            .map_err(|e| changed(format!("not the GraphQL JSON expected: {e}")))?;
        if let Some(errors) = parsed.errors.filter(|e| !e.is_empty()) {
            let message = errors
                .iter()
                .map(|e| {
                    e.get("message")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| e.to_string())
                })
                .collect::<Vec<_>>()
                .join("; ");
            return Err(SourceError::Api {
                name: self.name.clone(),
                url: resp.url.to_string(),
                message,
            });
        }
        let items = match root {
            Root::TrdBuy => parsed.data.and_then(|d| d.trd_buy),
            Root::Contract => parsed.data.and_then(|d| d.contract),
            Root::Plans => parsed.data.and_then(|d| d.plans),
        }
        .ok_or_else(|| changed(format!("no data.{root:?} in the answer")))?;
        Ok(GqlAnswer {
            items,
            page_info: parsed.extensions.and_then(|e| e.page_info),
            payload: resp.payload(),
            url: resp.url,
        })
    }

    fn cursor_string(&self) -> String {
        encode_cursor(&self.cursor)
    }
}

impl Source for Goszakup {
    fn next_page<'a>(&'a mut self, fetcher: &'a Fetcher) -> PageFuture<'a> {
        Box::pin(self.fetch_page(fetcher))
    }

    /// GraphQL `TrdBuy(filter: {id})`: an answer without the announcement means the
    /// portal no longer publishes it (deleted announcements are not returned; cancelled
    /// ones are, with their status).
    ///
    /// A direct contract (`contract-{id}`) or a plan point (`plan-{id}`) cannot be asked for: no by-id filter of the
    /// `Contract` root is known, and a guessed one would fail the whole query.
    fn recheck<'a>(&'a mut self, fetcher: &'a Fetcher, external_id: &'a str) -> RecheckFuture<'a> {
        Box::pin(async move {
            if external_id.starts_with(CONTRACT_ID_PREFIX)
                || external_id.starts_with(PLAN_ID_PREFIX)
            {
                return Ok(Recheck::Unsupported);
            }
            let id = external_id
                .parse::<i64>()
                .map(Value::from)
                .unwrap_or_else(|_| Value::from(external_id));
            let answer = self
                .graphql(
                    fetcher,
                    Root::TrdBuy,
                    json!({ "filter": { "id": id }, "limit": 1 }),
                )
                .await?;
            let found = map_trd_buy_list(&answer.items)
                .into_iter()
                .find(|r| r.external_id == external_id);
            Ok(match found {
                Some(mut r) => {
                    r.payloads = vec![answer.payload];
                    Recheck::Found(Box::new(r))
                }
                None => Recheck::Gone,
            })
        })
    }

    fn name(&self) -> &str {
        &self.name
    }
}

#[derive(Deserialize)]
struct GqlResponse {
    #[serde(default)]
    data: Option<GqlData>,
    #[serde(default)]
    errors: Option<Vec<Value>>,
    #[serde(default)]
    extensions: Option<Extensions>,
}

#[derive(Deserialize)]
struct GqlData {
    #[serde(rename = "TrdBuy", default)]
    trd_buy: Option<Vec<Value>>,
    #[serde(rename = "Contract", default)]
    contract: Option<Vec<Value>>,
    #[serde(rename = "Plans", default)]
    plans: Option<Vec<Value>>,
}

#[derive(Deserialize)]
struct Extensions {
    #[serde(rename = "pageInfo", alias = "page_info", default)]
    page_info: Option<PageInfo>,
}

#[derive(Deserialize)]
struct PageInfo {
    #[serde(rename = "hasNextPage", alias = "has_next_page", default)]
    has_next_page: Option<bool>,
    #[serde(rename = "lastId", alias = "last_id", default)]
    last_id: Option<Value>,
}

fn map_trd_buy_list(items: &[Value]) -> Vec<NoticeRecord> {
    items.iter().filter_map(map_trd_buy).collect()
}

fn almaty_now() -> NaiveDateTime {
    Utc::now().with_timezone(&ZONE).naive_local()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(token: Option<&str>) -> SourceSpec {
        let mut config = crate::config::SourceConfig::new(
            "gz",
            Url::parse("https://ows.goszakup.gov.kz").unwrap(),
            crate::config::SourceKind::Goszakup(Default::default()),
        );
        config.lookback_days = 7;
        SourceSpec {
            config,
            token: token.map(str::to_string),
            since: None,
            until: None,
            allowed_hosts: vec![],
        }
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, TIME_FORMAT).unwrap()
    }

    #[test]
    fn missing_or_blank_token_is_reported() {
        for t in [None, Some("  ")] {
            assert!(matches!(
                Goszakup::open(&spec(t), None),
                Err(SourceError::MissingToken { .. })
            ));
        }
    }

    #[test]
    fn first_run_looks_back_and_since_overrides_the_cursor() {
        let now = at("2026-11-28 10:00:00");
        let g = Goszakup::open_at(&spec(Some("t")), None, now).unwrap();
        assert_eq!(g.cursor.from, "2026-11-21 00:00:00");
        assert_eq!(g.to, "2026-11-29 10:00:00");
        let saved = r#"{"from":"2026-11-27 09:00:00","after":555,"started":"2026-11-27 10:00:00"}"#;
        let g = Goszakup::open_at(&spec(Some("t")), Some(saved), now).unwrap();
        assert_eq!(g.cursor.after, Some(json!(555)));
        assert_eq!(g.started, at("2026-11-27 10:00:00"));
        let mut s = spec(Some("t"));
        s.since = NaiveDate::from_ymd_opt(2026, 1, 2);
        let g = Goszakup::open_at(&s, Some(saved), now).unwrap();
        assert_eq!(g.cursor.from, "2026-01-02 00:00:00");
        assert_eq!(g.cursor.after, None);
        assert!(matches!(
            Goszakup::open_at(&spec(Some("t")), Some("{oops"), now),
            Err(SourceError::BadCursor { .. })
        ));
    }

    #[test]
    fn journal_entries_name_announcements() {
        let by_service = json!({"action": "U", "object_id": 17163708, "service_name": "trd-buy",
            "date_action": "2026-11-27 10:00:00", "url": null});
        assert_eq!(journal_trd_buy_id(&by_service).as_deref(), Some("17163708"));
        let by_url =
            json!({"action": "U", "objectId": 5, "serviceName": "x", "url": "/v3/trd-buy/42"});
        assert_eq!(journal_trd_buy_id(&by_url).as_deref(), Some("42"));
        let deleted = json!({"action": "D", "object_id": 1, "service_name": "trd-buy"});
        assert_eq!(journal_trd_buy_id(&deleted), None);
        let lot = json!({"action": "U", "object_id": 1, "service_name": "lots"});
        assert_eq!(journal_trd_buy_id(&lot), None);
    }
}
