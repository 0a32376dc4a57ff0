//! OCDS shapes -> [`NoticeRecord`]: merging the releases of one `ocid` into its current state,
//! and mapping that state. Pure functions, no I/O.

use std::cmp::Ordering;

use serde_json::{Map, Value};

use crate::model::{Agency, AwardRecord, DocumentRef, LotRecord, NoticeRecord, Supplier};
use crate::source::util::{amount_of, portal_time};
use crate::source::{
    document_rank, fill_template, is_spec, media_type, url_file_name, value_to_string,
};

/// The `documentType` of the technical assignment.
pub const SPEC_TYPE: &str = "technicalSpecifications";

/// What one package (or one line of a bulk file) holds: releases to merge, or a record's
/// compiled release (already the current state).
#[derive(Debug)]
pub enum Item {
    Release(Value),
    Compiled(Value),
}

impl Item {
    pub fn ocid(&self) -> Option<&str> {
        match self {
            Item::Release(v) | Item::Compiled(v) => v.get("ocid").and_then(Value::as_str),
        }
    }
}

/// The items of a release package, a record package, a record, or a single release.
/// `None`: none of these shapes.
pub fn items_of(v: Value) -> Option<Vec<Item>> {
    let Value::Object(mut obj) = v else {
        return None;
    };
    if let Some(Value::Array(records)) = obj.remove("records") {
        return Some(records.into_iter().filter_map(record_item).collect());
    }
    if let Some(Value::Array(releases)) = obj.remove("releases") {
        if obj.contains_key("ocid") {
            // A record without compiledRelease: its releases, if they are embedded.
            return record_item(Value::Object({
                obj.insert("releases".into(), Value::Array(releases));
                obj
            }))
            .map(|i| vec![i]);
        }
        return Some(
            releases
                .into_iter()
                .filter(|r| r.get("ocid").is_some())
                .map(Item::Release)
                .collect(),
        );
    }
    if obj.contains_key("compiledRelease") {
        return record_item(Value::Object(obj)).map(|i| vec![i]);
    }
    if obj.contains_key("ocid") {
        return Some(vec![Item::Release(Value::Object(obj))]);
    }
    None
}

/// A record: its compiledRelease, else the merge of its embedded releases (linked releases,
/// which are only URLs, cannot be merged and are skipped).
fn record_item(record: Value) -> Option<Item> {
    let Value::Object(mut rec) = record else {
        return None;
    };
    if let Some(c) = rec.remove("compiledRelease").filter(Value::is_object) {
        let mut c = c;
        if c.get("ocid").is_none()
            && let Some(o) = rec.get("ocid")
        {
            c["ocid"] = o.clone();
        }
        return Some(Item::Compiled(c));
    }
    let releases: Vec<Value> = match rec.remove("releases") {
        Some(Value::Array(r)) => r
            .into_iter()
            .filter(|r| r.get("tender").is_some() || r.get("buyer").is_some())
            .collect(),
        _ => Vec::new(),
    };
    if releases.is_empty() {
        return None;
    }
    Some(Item::Compiled(merge_releases(releases)))
}

/// Orders release dates: parsed as times where they parse, else as text.
fn date_order(a: &Value, b: &Value) -> Ordering {
    let d = |v: &Value| v.get("date").and_then(Value::as_str).map(str::to_string);
    let (da, db) = (d(a), d(b));
    let parse = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    match (parse(&da), parse(&db)) {
        (Some(x), Some(y)) => x.cmp(&y),
        _ => da.cmp(&db),
    }
}

/// Merges releases of one ocid into its current state: in `date` order, each later release
/// overwrites field by field (objects recursively; arrays of objects with `id` by id; other
/// arrays whole; `null` removes a field), as OCDS's merge rules say.
pub fn merge_releases(mut releases: Vec<Value>) -> Value {
    releases.sort_by(date_order);
    let mut out = Value::Object(Map::new());
    for r in releases {
        merge_into(&mut out, r);
    }
    out
}

fn merge_into(target: &mut Value, src: Value) {
    match (target, src) {
        (Value::Object(t), Value::Object(s)) => {
            for (k, v) in s {
                if v.is_null() {
                    t.remove(&k);
                    continue;
                }
                match t.get_mut(&k) {
                    Some(existing) => merge_into(existing, v),
                    None => {
                        t.insert(k, v);
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(s)) if is_identified(t) && is_identified(&s) => {
            for item in s {
                let id = item.get("id").cloned();
                match t.iter_mut().find(|x| x.get("id") == id.as_ref()) {
                    Some(existing) => merge_into(existing, item),
                    None => t.push(item),
                }
            }
        }
        (t, s) => *t = s,
    }
}

fn is_identified(items: &[Value]) -> bool {
    !items.is_empty()
        && items
            .iter()
            .all(|i| i.get("id").is_some_and(|id| !id.is_null()))
}

fn text(v: &Value, pointer: &str) -> Option<String> {
    v.pointer(pointer).cloned().and_then(value_to_string)
}

/// The current state of one ocid as a notice. `None` without an ocid.
pub fn map_release(release: &Value, notice_url: Option<&str>) -> Option<NoticeRecord> {
    let ocid = text(release, "/ocid")?;
    let tender = release.get("tender").cloned().unwrap_or(Value::Null);
    let items: Vec<&Value> = tender
        .get("items")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let item_text = |lot: Option<&str>| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for i in &items {
            if let Some(l) = lot
                && i.get("relatedLot").and_then(Value::as_str) != Some(l)
            {
                continue;
            }
            if let Some(d) = text(i, "/description")
                && !out.contains(&d)
            {
                out.push(d);
            }
        }
        out
    };
    let description = {
        let mut parts: Vec<String> = text(&tender, "/description").into_iter().collect();
        for d in item_text(None) {
            if !parts.contains(&d) {
                parts.push(d);
            }
        }
        (!parts.is_empty()).then(|| parts.join("\n"))
    };
    let title = text(&tender, "/title")
        .or_else(|| item_text(None).into_iter().next())
        .unwrap_or_else(|| ocid.clone());
    let lots = tender
        .get("lots")
        .and_then(Value::as_array)
        .map(|lots| {
            lots.iter()
                .filter_map(|l| {
                    let id = text(l, "/id")?;
                    let own = text(l, "/description");
                    let description = own.or_else(|| {
                        let t = item_text(Some(&id));
                        (!t.is_empty()).then(|| t.join("\n"))
                    });
                    Some(LotRecord {
                        number: Some(id.clone()),
                        title: text(l, "/title"),
                        description,
                        amount: l.pointer("/value/amount").and_then(amount_of),
                        status: text(l, "/status"),
                        external_id: id,
                        ..LotRecord::default()
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let agency = buyer(release);
    let region = agency.as_ref().and_then(|a| a.region.clone());
    let mut documents: Vec<DocumentRef> = Vec::new();
    for d in tender
        .get("documents")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(url) = text(d, "/url") else { continue };
        if documents.iter().any(|x| x.url == url) {
            continue;
        }
        let title = text(d, "/title");
        let file_name =
            url_file_name(&url).or_else(|| title.clone().filter(|t| media_type(t).is_some()));
        let kind = text(d, "/documentType");
        documents.push(DocumentRef {
            is_spec: kind.as_deref() == Some(SPEC_TYPE)
                || is_spec(title.as_deref(), file_name.as_deref()),
            media_type: text(d, "/format").filter(|f| f.contains('/')).or_else(|| {
                file_name
                    .as_deref()
                    .and_then(media_type)
                    .map(str::to_string)
            }),
            url,
            file_name,
            title,
            contract: None,
        });
    }
    documents.sort_by_key(document_rank);
    let notice_page = notice_url
        .map(|t| {
            let number = text(&tender, "/id").unwrap_or_else(|| ocid.clone());
            let id = text(release, "/id").unwrap_or_default();
            fill_template(t, &[("ocid", &ocid), ("id", &id), ("number", &number)])
        })
        .or_else(|| {
            tender
                .get("documents")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|d| d.get("documentType").and_then(Value::as_str) == Some("tenderNotice"))
                .and_then(|d| text(d, "/url"))
        });
    Some(NoticeRecord {
        number: Some(ocid.clone()),
        external_id: ocid,
        title,
        description,
        agency,
        amount: tender.pointer("/value/amount").and_then(amount_of),
        currency: text(&tender, "/value/currency").map(|c| c.to_ascii_uppercase()),
        status: text(&tender, "/status"),
        status_code: text(&tender, "/status"),
        method: text(&tender, "/procurementMethodDetails")
            .or_else(|| text(&tender, "/procurementMethod")),
        published: text(&tender, "/datePublished")
            .or_else(|| text(&tender, "/tenderPeriod/startDate"))
            .and_then(|s| portal_time(&s, None)),
        deadline: text(&tender, "/tenderPeriod/endDate").and_then(|s| portal_time(&s, None)),
        url: notice_page,
        region,
        lots,
        documents,
        awards: awards(release),
        ..NoticeRecord::default()
    })
}

/// The release's `parties[]` entry with this id.
fn party<'a>(release: &'a Value, id: &str) -> Option<&'a Value> {
    release
        .get("parties")
        .and_then(Value::as_array)?
        .iter()
        .find(|p| text(p, "/id").as_deref() == Some(id))
}

/// `awards[]`, each with its suppliers (identified through `parties[]` where they are
/// there) and the first of `contracts[]` whose `awardID` names it. Awards without an id
/// are left out: nothing could tell them apart on the next release.
fn awards(release: &Value) -> Vec<AwardRecord> {
    let contracts: Vec<&Value> = release
        .get("contracts")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let mut out: Vec<AwardRecord> = Vec::new();
    for a in release
        .get("awards")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(id) = text(a, "/id") else { continue };
        if out.iter().any(|x| x.external_id == id) {
            continue;
        }
        let mut suppliers: Vec<Supplier> = Vec::new();
        for s in a
            .get("suppliers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let p = text(s, "/id").and_then(|i| party(release, &i));
            let Some((id, scheme, name)) = organisation(s, p, "OCDS-party") else {
                continue;
            };
            if !suppliers.iter().any(|x| x.id == id && x.scheme == scheme) {
                suppliers.push(Supplier { id, scheme, name });
            }
        }
        let contract = contracts
            .iter()
            .find(|c| text(c, "/awardID").as_deref() == Some(id.as_str()));
        let lots = a
            .get("relatedLots")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| value_to_string(l.clone()))
            .collect();
        out.push(AwardRecord {
            status: text(a, "/status"),
            date: text(a, "/date").and_then(|s| portal_time(&s, None)),
            amount: a.pointer("/value/amount").and_then(amount_of),
            currency: text(a, "/value/currency").map(|c| c.to_ascii_uppercase()),
            suppliers,
            lots,
            contract_id: contract.and_then(|c| text(c, "/id")),
            contract_status: contract.and_then(|c| text(c, "/status")),
            contract_amount: contract.and_then(|c| c.pointer("/value/amount").and_then(amount_of)),
            contract_signed: contract
                .and_then(|c| text(c, "/dateSigned"))
                .and_then(|s| portal_time(&s, None)),
            external_id: id,
        });
    }
    out
}

/// An organisation reference (`buyer`, an entry of an award's `suppliers`) with its
/// `parties[]` entry, as (id, scheme, name): the party's `identifier` where it has one,
/// else the reference's own id, only unique within the publisher, under `local_scheme`;
/// the reference's name, else the party's name or legal name.
fn organisation(
    reference: &Value,
    party: Option<&Value>,
    local_scheme: &str,
) -> Option<(String, String, Option<String>)> {
    let (id, scheme) = match party.and_then(|p| text(p, "/identifier/id")) {
        Some(id) => (
            id,
            party
                .and_then(|p| text(p, "/identifier/scheme"))
                .unwrap_or_else(|| "OCDS".into()),
        ),
        None => (text(reference, "/id")?, local_scheme.to_string()),
    };
    let name = text(reference, "/name")
        .or_else(|| party.and_then(|p| text(p, "/name")))
        .or_else(|| party.and_then(|p| text(p, "/identifier/legalName")));
    Some((id, scheme, name))
}

/// `buyer` with its `parties[]` entry: identifier scheme and id, address region. The name goes
/// where the release's `language` says (en, kk), else into `name_ru`, the primary-name column.
fn buyer(release: &Value) -> Option<Agency> {
    let buyer = release.get("buyer")?;
    let party = text(buyer, "/id")
        .and_then(|i| party(release, &i))
        .or_else(|| {
            release
                .get("parties")
                .and_then(Value::as_array)?
                .iter()
                .find(|p| {
                    p.get("roles")
                        .and_then(Value::as_array)
                        .is_some_and(|r| r.iter().any(|x| x.as_str() == Some("buyer")))
                })
        });
    let (id, scheme, name) = organisation(buyer, party, "OCDS-buyer")?;
    let region =
        party.and_then(|p| text(p, "/address/region").or_else(|| text(p, "/address/locality")));
    let mut a = Agency {
        id,
        scheme: Some(scheme),
        region,
        ..Agency::default()
    };
    match text(release, "/language").as_deref() {
        Some("en") => a.name_en = name,
        Some("kk") | Some("kz") => a.name_kk = name,
        _ => a.name_ru = name,
    }
    Some(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn later_releases_win_field_by_field_and_arrays_merge_by_id() {
        let first = json!({"ocid": "o1", "id": "1", "date": "2026-11-01T10:00:00+02:00",
            "tender": {"title": "Old", "status": "active", "value": {"amount": 100, "currency": "UAH"},
                "documents": [{"id": "d1", "title": "Notice", "url": "https://x/1.pdf"}]}});
        let second = json!({"ocid": "o1", "id": "2", "date": "2026-11-02T10:00:00+02:00",
            "tender": {"title": "New",
                "documents": [{"id": "d2", "documentType": "technicalSpecifications", "url": "https://x/2.docx"}]}});
        let third = json!({"ocid": "o1", "id": "3", "date": "2026-11-03T00:00:00Z",
            "tender": {"status": "cancelled", "documents": [{"id": "d1", "title": "Notice v2"}]}});
        // Given out of order: the date decides.
        let merged = merge_releases(vec![third, first, second]);
        assert_eq!(merged["tender"]["title"], "New");
        assert_eq!(merged["tender"]["status"], "cancelled");
        assert_eq!(merged["tender"]["value"]["amount"], 100);
        let docs = merged["tender"]["documents"].as_array().unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["title"], "Notice v2");
        assert_eq!(docs[0]["url"], "https://x/1.pdf");
        let rec = map_release(&merged, Some("https://p/tender/{ocid}")).unwrap();
        assert_eq!(rec.title, "New");
        assert_eq!(rec.status.as_deref(), Some("cancelled"));
        assert!(rec.documents[0].is_spec, "{:?}", rec.documents);
        assert_eq!(rec.url.as_deref(), Some("https://p/tender/o1"));
    }

    #[test]
    fn buyer_party_identifier_and_region() {
        let r = json!({"ocid": "o", "language": "uk",
            "buyer": {"id": "UA-EDR-123", "name": "Міська рада"},
            "parties": [{"id": "UA-EDR-123", "roles": ["buyer"],
                "identifier": {"scheme": "UA-EDR", "id": "00123"},
                "address": {"region": "Київська область"}}],
            "tender": {"tenderPeriod": {"startDate": "2026-11-20T10:00:00+02:00", "endDate": "2026-11-30T18:00:00+02:00"}}});
        let rec = map_release(&r, None).unwrap();
        let a = rec.agency.unwrap();
        assert_eq!(
            (a.id.as_str(), a.scheme.as_deref()),
            ("00123", Some("UA-EDR"))
        );
        assert_eq!(a.name_ru.as_deref(), Some("Міська рада"));
        assert_eq!(rec.region.as_deref(), Some("Київська область"));
        let d = rec.deadline.unwrap();
        assert_eq!(d.original, "2026-11-30T18:00:00+02:00");
        assert_eq!(d.utc.unwrap().to_rfc3339(), "2026-11-30T16:00:00+00:00");
        assert_eq!(rec.title, "o");
    }

    #[test]
    fn shapes_of_packages_and_records() {
        let pkg = json!({"records": [{"ocid": "a", "releases": [{"url": "https://x#1"}],
            "compiledRelease": {"tender": {"title": "A"}}}]});
        let items = items_of(pkg).unwrap();
        assert!(matches!(&items[0], Item::Compiled(v) if v["ocid"] == "a"));
        let pkg = json!({"releases": [{"ocid": "b"}, {"ocid": "c"}], "links": {}});
        assert_eq!(items_of(pkg).unwrap().len(), 2);
        assert!(items_of(json!({"foo": 1})).is_none());
        assert_eq!(items_of(json!({"ocid": "d"})).unwrap().len(), 1);
    }

    #[test]
    fn awards_with_suppliers_from_parties_and_their_contracts() {
        let older = json!({"ocid": "ocds-1", "id": "1", "date": "2026-03-01T00:00:00Z",
            "tender": {"title": "SMM"},
            "awards": [{"id": "aw1", "status": "pending", "suppliers": [{"id": "P-1"}]}]});
        let newer = json!({"ocid": "ocds-1", "id": "2", "date": "2026-04-01T00:00:00Z",
            "parties": [{"id": "P-1", "name": "ТОО «Медиа»", "roles": ["supplier"],
                         "identifier": {"scheme": "KZ-BIN", "id": "051140001234"}},
                        {"id": "P-2", "roles": ["supplier"], "name": "ИП Ким"}],
            "awards": [{"id": "aw1", "status": "active", "date": "2026-04-01T10:00:00+05:00",
                        "value": {"amount": 1300000, "currency": "kzt"},
                        "suppliers": [{"id": "P-1", "name": "ТОО «Медиа»"}, {"id": "P-2"}, {"name": "no id"}],
                        "relatedLots": ["lot-1"]},
                       {"title": "no id, left out"}],
            "contracts": [{"id": "c1", "awardID": "aw1", "status": "active",
                           "value": {"amount": 1250000, "currency": "KZT"},
                           "dateSigned": "2026-04-10T09:00:00+05:00"}]});
        let rec = map_release(&merge_releases(vec![older, newer]), None).unwrap();
        assert_eq!(rec.awards.len(), 1);
        let a = &rec.awards[0];
        assert_eq!(a.external_id, "aw1");
        assert_eq!(a.status.as_deref(), Some("active"));
        assert_eq!(
            (a.amount, a.currency.as_deref()),
            (Some(1_300_000.0), Some("KZT"))
        );
        assert_eq!(a.lots, vec!["lot-1".to_string()]);
        let s: Vec<(&str, &str, Option<&str>)> = a
            .suppliers
            .iter()
            .map(|s| (s.scheme.as_str(), s.id.as_str(), s.name.as_deref()))
            .collect();
        assert_eq!(
            s,
            vec![
                ("KZ-BIN", "051140001234", Some("ТОО «Медиа»")),
                ("OCDS-party", "P-2", Some("ИП Ким")),
            ]
        );
        assert_eq!(a.contract_id.as_deref(), Some("c1"));
        assert_eq!(a.contract_amount, Some(1_250_000.0));
        assert_eq!(
            a.contract_signed
                .as_ref()
                .unwrap()
                .utc
                .unwrap()
                .to_rfc3339(),
            "2026-04-10T04:00:00+00:00"
        );
        // A release without awards maps to none, and its snapshot has no `awards` key.
        let plain = map_release(&json!({"ocid": "x", "tender": {"title": "t"}}), None).unwrap();
        assert!(plain.awards.is_empty());
        assert!(
            serde_json::to_value(&plain)
                .unwrap()
                .get("awards")
                .is_none()
        );
    }
}
