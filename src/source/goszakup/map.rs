//! Maps goszakup's announcement objects into [`NoticeRecord`]s. The structs take the REST
//! snake_case keys and the GraphQL camelCase ones alike; every field may be null or missing,
//! ids and amounts may come as numbers or strings.
//!
//! Contracts (`Contract` root, [`map_contract`]) become one of two records: a contract of an
//! announcement (`trdBuyId` set) is an award, with the contract's documents (marked
//! [`DocumentRef::contract`]), brought to that announcement's notice (same external id,
//! [`NoticeRecord::attach`]); a contract signed without one (direct single
//! source, `trdBuyId` 0 or null) is a notice of its own, external id `contract-{id}`.
//!
//! Plan points (`Plans` root, [`map_plan`]) are notices of kind `plan`, external id
//! `plan-{id}`. Announcements (their lots' `Plans`) and contracts (their units' `Plans`)
//! name the plan points they follow ([`NoticeRecord::plan_points`]) and carry their ENSTRU
//! codes ([`NoticeRecord::codes`]).
//!
//! Must never: invent a supplier, a method or an amount the portal did not send, or give a
//! direct contract an id an announcement could have.

use std::collections::HashSet;

use serde::Deserialize;
use serde_json::Value;

use super::{CONTRACT_URL, NOTICE_URL, ZONE};
use crate::model::{
    Agency, AwardRecord, DocumentRef, LotRecord, NoticeKind, NoticeRecord, Supplier,
};
use crate::source::util::{lenient_amount, lenient_quantity, portal_time};
use crate::source::{document_rank, is_spec, lenient_i64, lenient_string, media_type};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct TrdBuy {
    #[serde(deserialize_with = "lenient_string")]
    id: Option<String>,
    #[serde(alias = "numberAnno", deserialize_with = "lenient_string")]
    number_anno: Option<String>,
    #[serde(alias = "nameRu", deserialize_with = "lenient_string")]
    name_ru: Option<String>,
    #[serde(alias = "nameKz", deserialize_with = "lenient_string")]
    name_kz: Option<String>,
    #[serde(alias = "totalSum", deserialize_with = "lenient_amount")]
    total_sum: Option<f64>,
    #[serde(alias = "refTradeMethodsId", deserialize_with = "lenient_i64")]
    ref_trade_methods_id: Option<i64>,
    #[serde(alias = "refSubjectTypeId", deserialize_with = "lenient_string")]
    ref_subject_type_id: Option<String>,
    #[serde(alias = "customerBin", deserialize_with = "lenient_string")]
    customer_bin: Option<String>,
    #[serde(alias = "customerNameRu", deserialize_with = "lenient_string")]
    customer_name_ru: Option<String>,
    #[serde(alias = "customerNameKz", deserialize_with = "lenient_string")]
    customer_name_kz: Option<String>,
    #[serde(alias = "orgBin", deserialize_with = "lenient_string")]
    org_bin: Option<String>,
    #[serde(alias = "orgNameRu", deserialize_with = "lenient_string")]
    org_name_ru: Option<String>,
    #[serde(alias = "orgNameKz", deserialize_with = "lenient_string")]
    org_name_kz: Option<String>,
    #[serde(alias = "refBuyStatusId", deserialize_with = "lenient_i64")]
    ref_buy_status_id: Option<i64>,
    #[serde(alias = "endDate", deserialize_with = "lenient_string")]
    end_date: Option<String>,
    #[serde(alias = "publishDate", deserialize_with = "lenient_string")]
    publish_date: Option<String>,
    #[serde(rename = "RefBuyStatus", alias = "ref_buy_status")]
    ref_buy_status: Option<RefName>,
    #[serde(rename = "Files", alias = "files")]
    files: Option<Vec<FileRef>>,
    #[serde(rename = "Lots", alias = "lots")]
    lots: Option<Vec<Lot>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RefName {
    #[serde(alias = "nameRu", deserialize_with = "lenient_string")]
    name_ru: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Lot {
    #[serde(deserialize_with = "lenient_string")]
    id: Option<String>,
    #[serde(alias = "lotNumber", deserialize_with = "lenient_string")]
    lot_number: Option<String>,
    #[serde(alias = "nameRu", deserialize_with = "lenient_string")]
    name_ru: Option<String>,
    #[serde(alias = "descriptionRu", deserialize_with = "lenient_string")]
    description_ru: Option<String>,
    #[serde(deserialize_with = "lenient_amount")]
    amount: Option<f64>,
    #[serde(deserialize_with = "lenient_quantity")]
    count: Option<f64>,
    #[serde(alias = "refLotStatusId", deserialize_with = "lenient_i64")]
    ref_lot_status_id: Option<i64>,
    #[serde(rename = "RefLotsStatus", alias = "ref_lots_status")]
    ref_lots_status: Option<RefName>,
    #[serde(rename = "Files", alias = "files")]
    files: Option<Vec<FileRef>>,
    /// The lot's plan points (`Lots { Plans { id refEnstruCode ... } }`): one or a list.
    #[serde(rename = "Plans", alias = "plans", deserialize_with = "one_or_many")]
    plans: Vec<PlanPoint>,
}

/// A nested object or a list of them (null or missing: none); items of another shape are
/// skipped.
fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    let items = match v {
        Value::Array(a) => a,
        Value::Null => Vec::new(),
        other => vec![other],
    };
    Ok(items
        .into_iter()
        .filter_map(|i| T::deserialize(i).ok())
        .collect())
}

/// The plan point ids and catalogue codes of `plans`, each once, in order.
fn plan_refs<'a>(plans: impl IntoIterator<Item = &'a PlanPoint>) -> (Vec<String>, Vec<String>) {
    let (mut ids, mut codes) = (Vec::new(), Vec::new());
    for p in plans {
        let clean = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty() && *s != "0")
                .map(str::to_string)
        };
        if let Some(id) = clean(&p.id).filter(|i| !ids.contains(i)) {
            ids.push(id);
        }
        if let Some(c) = clean(&p.ref_enstru_code).filter(|c| !codes.contains(c)) {
            codes.push(c);
        }
    }
    (ids, codes)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FileRef {
    #[serde(alias = "nameRu", deserialize_with = "lenient_string")]
    name_ru: Option<String>,
    #[serde(alias = "nameKz", deserialize_with = "lenient_string")]
    name_kz: Option<String>,
    #[serde(alias = "originalName", deserialize_with = "lenient_string")]
    original_name: Option<String>,
    #[serde(alias = "filePath", deserialize_with = "lenient_string")]
    file_path: Option<String>,
}

/// Maps one announcement (GraphQL `TrdBuy` item or REST `trd-buy` object). `None` without an id.
pub(crate) fn map_trd_buy(item: &Value) -> Option<NoticeRecord> {
    let t: TrdBuy = match TrdBuy::deserialize(item) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "TrdBuy item has unexpected field types");
            return None;
        }
    };
    let id = t.id.clone()?;
    let status_code = t.ref_buy_status_id.map(|c| c.to_string());
    let status = t
        .ref_buy_status
        .as_ref()
        .and_then(|r| r.name_ru.clone())
        .or_else(|| {
            t.ref_buy_status_id
                .and_then(buy_status_name)
                .map(str::to_string)
        })
        .or_else(|| status_code.clone());
    let raw_lots = t.lots.unwrap_or_default();
    let (plan_points, codes) = plan_refs(raw_lots.iter().flat_map(|l| &l.plans));
    let lots = raw_lots
        .into_iter()
        .filter_map(|l| {
            let external_id = l.id?;
            Some(LotRecord {
                external_id,
                number: l.lot_number,
                title: l.name_ru,
                description: l.description_ru,
                amount: l.amount,
                quantity: l.count,
                status: l
                    .ref_lots_status
                    .and_then(|r| r.name_ru)
                    .or_else(|| l.ref_lot_status_id.map(|c| c.to_string())),
                documents: documents(l.files.unwrap_or_default()),
            })
        })
        .collect();
    let agency = agency(
        [t.customer_bin, t.customer_name_ru, t.customer_name_kz],
        [t.org_bin, t.org_name_ru, t.org_name_kz],
    );
    Some(NoticeRecord {
        url: Some(format!("{NOTICE_URL}{id}")),
        external_id: id,
        title: t
            .name_ru
            .clone()
            .or_else(|| t.name_kz.clone())
            .or_else(|| t.number_anno.clone())
            .unwrap_or_default(),
        number: t.number_anno,
        title_kk: t.name_kz,
        description: None,
        agency,
        amount: t.total_sum,
        currency: Some("KZT".into()),
        status,
        status_code,
        method: t.ref_trade_methods_id.map(|m| {
            trade_method_name(m)
                .map(str::to_string)
                .unwrap_or_else(|| m.to_string())
        }),
        published: t.publish_date.and_then(|d| portal_time(&d, Some(ZONE))),
        deadline: t.end_date.and_then(|d| portal_time(&d, Some(ZONE))),
        region: None,
        lots,
        documents: documents(t.files.unwrap_or_default()),
        // Contracts come from their own root ([`map_contract`]) and attach to the notice.
        awards: Vec::new(),
        // The answer it came in is the source's to add.
        payloads: Vec::new(),
        attach: false,
        kind: NoticeKind::Notice,
        subject_type: t.ref_subject_type_id,
        codes,
        plan_points,
    })
}

/// Prefix of the external id of a contract signed without an announcement: announcements
/// keep their bare numeric ids, so the two can never meet.
pub const CONTRACT_ID_PREFIX: &str = "contract-";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Contract {
    #[serde(deserialize_with = "lenient_string")]
    id: Option<String>,
    #[serde(alias = "trdBuyId", deserialize_with = "lenient_string")]
    trd_buy_id: Option<String>,
    #[serde(alias = "trdBuyNumberAnno", deserialize_with = "lenient_string")]
    trd_buy_number_anno: Option<String>,
    #[serde(alias = "trdBuyNameRu", deserialize_with = "lenient_string")]
    trd_buy_name_ru: Option<String>,
    #[serde(alias = "trdBuyNameKz", deserialize_with = "lenient_string")]
    trd_buy_name_kz: Option<String>,
    #[serde(alias = "refContractStatusId", deserialize_with = "lenient_i64")]
    ref_contract_status_id: Option<i64>,
    #[serde(alias = "supplierBiin", deserialize_with = "lenient_string")]
    supplier_biin: Option<String>,
    #[serde(alias = "supplierLegalAddress", deserialize_with = "lenient_string")]
    supplier_legal_address: Option<String>,
    #[serde(alias = "contractNumber", deserialize_with = "lenient_string")]
    contract_number: Option<String>,
    #[serde(alias = "contractNumberSys", deserialize_with = "lenient_string")]
    contract_number_sys: Option<String>,
    #[serde(alias = "customerBin", deserialize_with = "lenient_string")]
    customer_bin: Option<String>,
    #[serde(alias = "refSubjectTypeId", deserialize_with = "lenient_string")]
    ref_subject_type_id: Option<String>,
    #[serde(alias = "refCurrencyCode", deserialize_with = "lenient_string")]
    ref_currency_code: Option<String>,
    #[serde(alias = "contractSum", deserialize_with = "lenient_amount")]
    contract_sum: Option<f64>,
    #[serde(alias = "contractSumWnds", deserialize_with = "lenient_amount")]
    contract_sum_wnds: Option<f64>,
    #[serde(alias = "signDate", deserialize_with = "lenient_string")]
    sign_date: Option<String>,
    #[serde(alias = "crdate", deserialize_with = "lenient_string")]
    crdate: Option<String>,
    #[serde(alias = "descriptionRu", deserialize_with = "lenient_string")]
    description_ru: Option<String>,
    #[serde(alias = "descriptionKz", deserialize_with = "lenient_string")]
    description_kz: Option<String>,
    #[serde(alias = "faktTradeMethodsId", deserialize_with = "lenient_i64")]
    fakt_trade_methods_id: Option<i64>,
    #[serde(rename = "FaktTradeMethods", alias = "fakt_trade_methods")]
    fakt_trade_methods: Option<RefName>,
    #[serde(rename = "RefContractStatus", alias = "ref_contract_status")]
    ref_contract_status: Option<RefName>,
    #[serde(rename = "File", alias = "Files", alias = "files")]
    files: Option<Vec<FileRef>>,
    #[serde(rename = "ContractUnits", alias = "contract_units")]
    units: Option<Vec<ContractUnit>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContractUnit {
    #[serde(deserialize_with = "lenient_string")]
    id: Option<String>,
    #[serde(alias = "totalSum", deserialize_with = "lenient_amount")]
    total_sum: Option<f64>,
    #[serde(deserialize_with = "lenient_quantity")]
    quantity: Option<f64>,
    #[serde(rename = "Plans", alias = "plans", deserialize_with = "one_or_many")]
    plans: Vec<PlanPoint>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PlanPoint {
    #[serde(deserialize_with = "lenient_string")]
    id: Option<String>,
    #[serde(alias = "nameRu", deserialize_with = "lenient_string")]
    name_ru: Option<String>,
    #[serde(alias = "descRu", deserialize_with = "lenient_string")]
    desc_ru: Option<String>,
    #[serde(alias = "extraDescRu", deserialize_with = "lenient_string")]
    extra_desc_ru: Option<String>,
    #[serde(alias = "refEnstruCode", deserialize_with = "lenient_string")]
    ref_enstru_code: Option<String>,
}

/// Maps one contract (GraphQL `Contract` item). `None` without an id. A contract of an
/// announcement comes back as an [`attach`](NoticeRecord::attach) record under the
/// announcement's id; a direct one as a notice `contract-{id}` whose lots are its units.
pub(crate) fn map_contract(item: &Value) -> Option<NoticeRecord> {
    let c: Contract = match Contract::deserialize(item) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "Contract item has unexpected field types");
            return None;
        }
    };
    let id = c.id.clone()?;
    let trd_buy = c
        .trd_buy_id
        .clone()
        .filter(|t| !t.trim().is_empty() && t.trim() != "0");
    let method = c
        .fakt_trade_methods
        .as_ref()
        .and_then(|r| r.name_ru.clone())
        .or_else(|| {
            c.fakt_trade_methods_id.map(|m| {
                trade_method_name(m)
                    .map(str::to_string)
                    .unwrap_or_else(|| m.to_string())
            })
        });
    let status_code = c.ref_contract_status_id.map(|s| s.to_string());
    let status = c
        .ref_contract_status
        .as_ref()
        .and_then(|r| r.name_ru.clone())
        .or_else(|| status_code.clone());
    let currency = c
        .ref_currency_code
        .clone()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "KZT".into());
    let amount = c.contract_sum.or(c.contract_sum_wnds);
    let signed = c
        .sign_date
        .as_deref()
        .and_then(|d| portal_time(d, Some(ZONE)));
    let suppliers = c
        .supplier_biin
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|b| Supplier {
            id: normalise_bin(b),
            scheme: "KZ-BIN".into(),
            name: None,
        })
        .into_iter()
        .collect();
    let award = AwardRecord {
        external_id: format!("{CONTRACT_ID_PREFIX}{id}"),
        status: status.clone(),
        date: signed.clone(),
        amount,
        currency: Some(currency.clone()),
        suppliers,
        lots: Vec::new(),
        contract_id: c.contract_number.clone().or(c.contract_number_sys.clone()),
        contract_status: status.clone(),
        contract_amount: amount,
        contract_signed: signed.clone(),
    };
    let agency = agency([c.customer_bin.clone(), None, None], [None, None, None]);
    let units: Vec<ContractUnit> = c.units.unwrap_or_default();
    let (plan_points, codes) = plan_refs(units.iter().flat_map(|u| &u.plans));
    if let Some(trd_buy) = trd_buy {
        // What the contract says of its announcement: enough to store it if we do not hold it.
        return Some(NoticeRecord {
            url: Some(format!("{NOTICE_URL}{trd_buy}")),
            title: c
                .trd_buy_name_ru
                .clone()
                .or_else(|| c.trd_buy_name_kz.clone())
                .or_else(|| c.trd_buy_number_anno.clone())
                .unwrap_or_else(|| trd_buy.clone()),
            external_id: trd_buy,
            number: c.trd_buy_number_anno,
            title_kk: c.trd_buy_name_kz,
            agency,
            currency: Some(currency),
            // The contract's own documents (the signed contract, its specification) join
            // the announcement's, marked as the contract's.
            documents: documents(c.files.unwrap_or_default())
                .into_iter()
                .map(|d| DocumentRef {
                    contract: Some(award.external_id.clone()),
                    ..d
                })
                .collect(),
            awards: vec![award],
            attach: true,
            subject_type: c.ref_subject_type_id,
            codes,
            plan_points,
            ..Default::default()
        });
    }
    let lots = units
        .into_iter()
        .filter_map(|u| {
            let external_id = u.id?;
            let plan = u.plans.into_iter().next().unwrap_or_default();
            let description = [plan.desc_ru, plan.extra_desc_ru]
                .into_iter()
                .flatten()
                .filter(|s| !s.trim().is_empty())
                .collect::<Vec<_>>()
                .join("\n");
            Some(LotRecord {
                external_id,
                number: plan.ref_enstru_code,
                title: plan.name_ru,
                description: (!description.is_empty()).then_some(description),
                amount: u.total_sum,
                quantity: u.quantity,
                status: None,
                documents: Vec::new(),
            })
        })
        .collect::<Vec<_>>();
    let title = c
        .description_ru
        .clone()
        .or_else(|| c.description_kz.clone())
        .or_else(|| lots.iter().find_map(|l| l.title.clone()))
        .or_else(|| c.contract_number.clone())
        .unwrap_or_else(|| format!("{CONTRACT_ID_PREFIX}{id}"));
    let description = c
        .supplier_legal_address
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| {
            format!(
                "Поставщик: БИН/ИИН {}, {a}",
                c.supplier_biin.as_deref().unwrap_or("")
            )
        });
    // Contract status ids are not announcement status ids (410 and 430 mean cancelled
    // there): the code is left out, the status name is kept and its changes are versions.
    Some(NoticeRecord {
        external_id: format!("{CONTRACT_ID_PREFIX}{id}"),
        number: c.contract_number,
        title,
        title_kk: c.description_kz,
        description,
        agency,
        amount,
        currency: Some(currency),
        status,
        status_code: None,
        method,
        published: signed.or_else(|| c.crdate.and_then(|d| portal_time(&d, Some(ZONE)))),
        // A contract has no bid deadline (its end date is not one).
        deadline: None,
        url: Some(format!("{CONTRACT_URL}{id}")),
        region: None,
        lots,
        documents: documents(c.files.unwrap_or_default()),
        awards: vec![award],
        payloads: Vec::new(),
        attach: false,
        kind: NoticeKind::Notice,
        subject_type: c.ref_subject_type_id,
        codes,
        plan_points,
    })
}

/// Prefix of the external id of a plan point (`Plans` root): `plan-{id}`.
pub const PLAN_ID_PREFIX: &str = "plan-";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Plan {
    #[serde(deserialize_with = "lenient_string")]
    id: Option<String>,
    #[serde(alias = "subjectBiin", deserialize_with = "lenient_string")]
    subject_biin: Option<String>,
    #[serde(alias = "subjectNameRu", deserialize_with = "lenient_string")]
    subject_name_ru: Option<String>,
    #[serde(alias = "subjectNameKz", deserialize_with = "lenient_string")]
    subject_name_kz: Option<String>,
    #[serde(alias = "nameRu", deserialize_with = "lenient_string")]
    name_ru: Option<String>,
    #[serde(alias = "nameKz", deserialize_with = "lenient_string")]
    name_kz: Option<String>,
    #[serde(alias = "descRu", deserialize_with = "lenient_string")]
    desc_ru: Option<String>,
    #[serde(alias = "descKz", deserialize_with = "lenient_string")]
    desc_kz: Option<String>,
    #[serde(alias = "extraDescRu", deserialize_with = "lenient_string")]
    extra_desc_ru: Option<String>,
    #[serde(alias = "extraDescKz", deserialize_with = "lenient_string")]
    extra_desc_kz: Option<String>,
    #[serde(alias = "refEnstruCode", deserialize_with = "lenient_string")]
    ref_enstru_code: Option<String>,
    #[serde(alias = "refTradeMethodsId", deserialize_with = "lenient_i64")]
    ref_trade_methods_id: Option<i64>,
    #[serde(alias = "refSubjectTypeId", deserialize_with = "lenient_string")]
    ref_subject_type_id: Option<String>,
    #[serde(deserialize_with = "lenient_amount")]
    amount: Option<f64>,
    #[serde(alias = "plnPointYear", deserialize_with = "lenient_string")]
    pln_point_year: Option<String>,
    #[serde(alias = "refPlnPointStatusId", deserialize_with = "lenient_string")]
    ref_pln_point_status_id: Option<String>,
}

/// Maps one plan point (GraphQL `Plans` item) into a notice of kind `plan`, external id
/// `plan-{id}`: its name is the title, its descriptions (Russian, then Kazakh) the
/// description the rules read, its agency the planning subject. `None` without an id.
pub(crate) fn map_plan(item: &Value) -> Option<NoticeRecord> {
    let p: Plan = match Plan::deserialize(item) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %e, "Plans item has unexpected field types");
            return None;
        }
    };
    let id = p.id.clone().filter(|i| !i.trim().is_empty())?;
    let description = [p.desc_ru, p.extra_desc_ru, p.desc_kz, p.extra_desc_kz]
        .into_iter()
        .flatten()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .fold(Vec::<String>::new(), |mut v, s| {
            if !v.contains(&s) {
                v.push(s);
            }
            v
        })
        .join("\n");
    let code = p
        .ref_enstru_code
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_string);
    Some(NoticeRecord {
        external_id: format!("{PLAN_ID_PREFIX}{id}"),
        number: Some(match &p.pln_point_year {
            Some(y) if !y.trim().is_empty() => format!("{id} ({})", y.trim()),
            _ => id.clone(),
        }),
        title: p
            .name_ru
            .clone()
            .or_else(|| p.name_kz.clone())
            .unwrap_or_else(|| format!("{PLAN_ID_PREFIX}{id}")),
        title_kk: p.name_kz,
        description: (!description.is_empty()).then_some(description),
        agency: agency(
            [p.subject_biin, p.subject_name_ru, p.subject_name_kz],
            [None, None, None],
        ),
        amount: p.amount,
        currency: Some("KZT".into()),
        status: p.ref_pln_point_status_id.clone(),
        status_code: None,
        method: p.ref_trade_methods_id.map(|m| {
            trade_method_name(m)
                .map(str::to_string)
                .unwrap_or_else(|| m.to_string())
        }),
        kind: NoticeKind::Plan,
        subject_type: p.ref_subject_type_id,
        codes: code.into_iter().collect(),
        plan_points: vec![id],
        ..Default::default()
    })
}

/// The customer, or the organiser where the portal names no customer.
pub(crate) fn agency(
    customer: [Option<String>; 3],
    organiser: [Option<String>; 3],
) -> Option<Agency> {
    let [bin, ru, kk] = if customer.iter().any(Option::is_some) {
        customer
    } else {
        organiser
    };
    if bin.is_none() && ru.is_none() && kk.is_none() {
        return None;
    }
    Some(Agency {
        scheme: bin.as_ref().map(|_| "KZ-BIN".to_string()),
        id: bin.map(|b| normalise_bin(&b)).unwrap_or_default(),
        name_ru: ru,
        name_kk: kk,
        name_en: None,
        region: None,
    })
}

/// BINs are 12 digits; a number-typed BIN lost its leading zeros.
fn normalise_bin(bin: &str) -> String {
    let bin = bin.trim();
    if !bin.is_empty() && bin.len() < 12 && bin.bytes().all(|b| b.is_ascii_digit()) {
        format!("{bin:0>12}")
    } else {
        bin.to_string()
    }
}

fn documents(files: Vec<FileRef>) -> Vec<DocumentRef> {
    let mut seen = HashSet::new();
    let mut docs: Vec<DocumentRef> = files
        .into_iter()
        .filter_map(|f| {
            let url = f.file_path?.trim().to_string();
            if url.is_empty() || !seen.insert(url.clone()) {
                return None;
            }
            let title = f.name_ru.or(f.name_kz);
            let is_spec = is_spec(title.as_deref(), f.original_name.as_deref());
            Some(DocumentRef {
                media_type: f
                    .original_name
                    .as_deref()
                    .and_then(media_type)
                    .map(str::to_string),
                url,
                file_name: f.original_name,
                title,
                is_spec,
                contract: None,
            })
        })
        .collect();
    docs.sort_by_key(document_rank);
    docs
}

/// Names of `ref_buy_status` codes (goszakup.md); `RefBuyStatus.nameRu` wins where present.
pub fn buy_status_name(code: i64) -> Option<&'static str> {
    Some(match code {
        190 => "Изменена документация",
        210 => "Опубликовано",
        220 => "Опубликовано (прием заявок)",
        230 => "Опубликовано (прием дополнений)",
        240 => "Опубликовано (прием ценовых предложений)",
        250 | 260 => "Рассмотрение заявок",
        350 => "Завершено",
        410 => "Отказ от закупки",
        430 => "Отменено",
        440 => "Обжалование",
        _ => return None,
    })
}

/// Names of the trade methods we know (`ref_trade_methods`, partial); other codes stay numbers.
pub fn trade_method_name(code: i64) -> Option<&'static str> {
    Some(match code {
        2 => "Открытый конкурс",
        3 => "Запрос ценовых предложений",
        6 => "Из одного источника по несостоявшимся закупкам",
        7 => "Аукцион",
        32 => "Конкурс с предварительным квалификационным отбором",
        60 => "Электронный магазин",
        188 => "Конкурс с использованием рейтингово-балльной системы",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A plan point of the `Plans` root is a notice of kind plan; a lot's `Plans` (one or a
    /// list) and a contract unit's name the plan points they follow, with their codes.
    #[test]
    fn plan_points_map_and_announcements_name_theirs() {
        let plan = json!({"id": 77000123, "subjectBiin": 990240001234_i64,
            "subjectNameRu": "ГУ «Аппарат акима»", "nameRu": "Услуги по продвижению",
            "nameKz": null, "descRu": "Ведение страниц", "descKz": null,
            "extraDescRu": "Ведение страниц", "extraDescKz": "Парақшаларды жүргізу",
            "refEnstruCode": "731112.000.000000", "refTradeMethodsId": 3,
            "refSubjectTypeId": 3, "count": 1, "price": 1300000, "amount": 1300000,
            "plnPointYear": 2026, "refPlnPointStatusId": 2, "timestamp": "2026-11-26 09:12:44"});
        let p = map_plan(&plan).unwrap();
        assert_eq!(p.external_id, "plan-77000123");
        assert_eq!(p.kind, NoticeKind::Plan);
        assert_eq!(p.number.as_deref(), Some("77000123 (2026)"));
        assert_eq!(p.title, "Услуги по продвижению");
        assert_eq!(
            p.description.as_deref(),
            Some("Ведение страниц\nПарақшаларды жүргізу"),
            "each text once"
        );
        assert_eq!(p.agency.unwrap().id, "990240001234");
        assert_eq!(
            (p.amount, p.subject_type.as_deref()),
            (Some(1300000.0), Some("3"))
        );
        assert_eq!(
            (p.codes, p.plan_points),
            (
                vec!["731112.000.000000".to_string()],
                vec!["77000123".to_string()]
            )
        );
        assert!(map_plan(&json!({"nameRu": "без id"})).is_none());
        for plans in [
            json!({"id": 77000123, "refEnstruCode": "731112.000.000000"}),
            json!([{"id": "77000123", "refEnstruCode": "731112.000.000000"}, {"id": 0}]),
        ] {
            let t = map_trd_buy(&json!({"id": 1, "refSubjectTypeId": 3,
                "Lots": [{"id": 10, "Plans": plans}]}))
            .unwrap();
            assert_eq!(t.plan_points, ["77000123"]);
            assert_eq!(t.codes, ["731112.000.000000"]);
            assert_eq!(t.subject_type.as_deref(), Some("3"));
        }
    }

    #[test]
    fn rest_snake_case_maps_like_graphql_camel_case() {
        let rest = json!({"id": 15997176, "number_anno": "15997176-1", "name_ru": "Услуги SMM",
            "name_kz": "SMM қызметтері", "total_sum": 710338.8, "ref_trade_methods_id": 3,
            "customer_bin": null, "customer_name_ru": null, "org_bin": "012345678901",
            "org_name_ru": "ГУ Аппарат акима", "ref_buy_status_id": 220,
            "publish_date": "2026-04-15 22:46:05", "end_date": "2026-04-22 09:00:00"});
        let gql = json!({"id": "15997176", "numberAnno": "15997176-1", "nameRu": "Услуги SMM",
            "nameKz": "SMM қызметтері", "totalSum": "710 338.80", "refTradeMethodsId": 3,
            "customerBin": null, "orgBin": 12345678901_i64, "orgNameRu": "ГУ Аппарат акима",
            "refBuyStatusId": 220, "publishDate": "2026-04-15 22:46:05",
            "endDate": "2026-04-22 09:00:00"});
        let a = map_trd_buy(&rest).unwrap();
        let b = map_trd_buy(&gql).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.agency.as_ref().unwrap().id, "012345678901");
        assert_eq!(a.status.as_deref(), Some("Опубликовано (прием заявок)"));
        assert_eq!(a.method.as_deref(), Some("Запрос ценовых предложений"));
        assert_eq!(a.amount, Some(710338.8));
        assert_eq!(
            a.published.unwrap().utc.unwrap().to_rfc3339(),
            "2026-04-15T17:46:05+00:00"
        );
    }

    /// Amounts and counts sent as strings go through the one parser (`source::util`): before
    /// it, "1.300.000" and "1,300,000" were lost (no amount) and "1,300" read as 1.3.
    #[test]
    fn string_amounts_are_read_as_the_portal_writes_them() {
        for (sent, want) in [
            ("1.300.000", 1_300_000.0),
            ("1,300,000", 1_300_000.0),
            ("1 300 000,50", 1_300_000.5),
            ("1300000.00", 1_300_000.0),
            ("1,300", 1_300.0),
        ] {
            let item = json!({"id": 1, "totalSum": sent,
                "Lots": [{"id": 2, "amount": sent, "count": "1.500"}]});
            let rec = map_trd_buy(&item).unwrap();
            assert_eq!(rec.amount, Some(want), "{sent}");
            assert_eq!(rec.lots[0].amount, Some(want), "{sent}");
            assert_eq!(
                rec.lots[0].quantity,
                Some(1.5),
                "a count's one mark is decimal"
            );
        }
    }

    #[test]
    fn contracts_attach_to_their_announcement_or_stand_alone() {
        let attached = json!({"id": 880001, "trdBuyId": "900001", "trdBuyNumberAnno": "900001-1",
            "trdBuyNameRu": "Информационные услуги", "supplierBiin": 51140001234_i64,
            "contractSum": "1 250 000,00", "contractNumber": "990240001234/260001/00",
            "customerBin": "990240001234", "signDate": "2026-11-25 11:00:00",
            "RefContractStatus": {"nameRu": "Действует"},
            "File": [{"nameRu": "Договор", "filePath": "https://v3bl.goszakup.gov.kz/files/download_file/1/",
                "originalName": "d.pdf"}]});
        let a = map_contract(&attached).unwrap();
        assert!(a.attach);
        assert_eq!(a.external_id, "900001");
        assert_eq!(a.number.as_deref(), Some("900001-1"));
        assert!(a.lots.is_empty());
        assert_eq!(a.documents[0].contract.as_deref(), Some("contract-880001"));
        let aw = &a.awards[0];
        assert_eq!(aw.external_id, "contract-880001");
        assert_eq!(aw.contract_amount, Some(1_250_000.0));
        assert_eq!(aw.contract_id.as_deref(), Some("990240001234/260001/00"));
        assert_eq!(aw.status.as_deref(), Some("Действует"));
        // A number-typed BIN lost its leading zero.
        assert_eq!(aw.suppliers[0].id, "051140001234");
        assert_eq!(aw.suppliers[0].scheme, "KZ-BIN");
        assert_eq!(
            aw.contract_signed
                .as_ref()
                .unwrap()
                .utc
                .unwrap()
                .to_rfc3339(),
            "2026-11-25T06:00:00+00:00"
        );

        for none in [json!(0), json!(null), json!("0"), json!("")] {
            let direct = json!({"id": 880002, "trdBuyId": none, "supplierBiin": "850101300123",
                "contractSum": 1300000, "faktTradeMethodsId": 6,
                "File": [{"nameRu": "Техническая спецификация", "originalName": "techspec_1.docx",
                    "filePath": "https://v3bl.goszakup.gov.kz/files/download_file/2/"}],
                "ContractUnits": [{"id": 5, "totalSum": 1300000, "quantity": 1,
                    "Plans": {"nameRu": "Услуги", "descRu": "Ведение аккаунтов",
                        "refEnstruCode": "731112.000.000000"}}]});
            let d = map_contract(&direct).unwrap();
            assert!(!d.attach, "{none}");
            assert_eq!(d.external_id, "contract-880002");
            assert_eq!(
                d.url.as_deref(),
                Some("https://goszakup.gov.kz/ru/egzcontract/cpublic/show/880002")
            );
            // No FaktTradeMethods object: the code's name.
            assert_eq!(
                d.method.as_deref(),
                Some("Из одного источника по несостоявшимся закупкам")
            );
            assert_eq!(d.title, "Услуги");
            assert_eq!(d.lots[0].description.as_deref(), Some("Ведение аккаунтов"));
            assert!(d.documents[0].is_spec);
            assert_eq!(d.awards[0].suppliers[0].id, "850101300123");
            assert_eq!(d.amount, Some(1_300_000.0));
        }
        assert!(map_contract(&json!({"trdBuyId": 1})).is_none());
    }

    #[test]
    fn specs_come_first() {
        let files = vec![
            FileRef {
                name_ru: Some("Проект договора".into()),
                original_name: Some("dogovor.docx".into()),
                file_path: Some("https://v3bl.goszakup.gov.kz/files/download_file/1/".into()),
                ..Default::default()
            },
            FileRef {
                name_ru: Some("Фото".into()),
                original_name: Some("a.jpg".into()),
                file_path: Some("https://v3bl.goszakup.gov.kz/files/download_file/3/".into()),
                ..Default::default()
            },
            FileRef {
                name_ru: Some("Техническая спецификация".into()),
                original_name: Some("techspec_84965784.pdf".into()),
                file_path: Some("https://v3bl.goszakup.gov.kz/files/download_file/2/".into()),
                ..Default::default()
            },
        ];
        let docs = documents(files);
        assert!(docs[0].is_spec && docs[0].url.ends_with("/2/"));
        assert_eq!(docs[0].media_type.as_deref(), Some("application/pdf"));
        assert!(docs[1].url.ends_with("/1/") && !docs[1].is_spec);
        assert!(docs[2].url.ends_with("/3/"));
    }
}
