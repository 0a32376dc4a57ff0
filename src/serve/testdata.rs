//! Test data for the web page's unit tests: notices stored through the store's own writes,
//! with the matches the rules would have recorded.

use crate::model::{Agency, AwardRecord, LotRecord, NoticeRecord, PortalTime, Severity, Supplier};
use crate::states::{Period, QuotaKind};
use crate::store::{NewMatch, Store};

pub const HOSTILE: &str = "=HYPERLINK(\"x\")<script>&'ТОО'";

pub struct N {
    pub ext: String,
    pub agency: Option<(&'static str, &'static str)>,
    pub amount: Option<f64>,
    pub currency: &'static str,
    /// RFC 3339, or empty for a notice with no publication date.
    pub published: String,
    /// Its lots' amounts (a lot may have none).
    pub lots: Vec<Option<f64>>,
    pub supplier: Option<&'static str>,
}

pub fn n(
    ext: &str,
    agency: Option<(&'static str, &'static str)>,
    amount: f64,
    currency: &'static str,
    published: &'static str,
) -> N {
    N {
        ext: ext.into(),
        agency,
        amount: Some(amount),
        currency,
        published: published.into(),
        lots: Vec::new(),
        supplier: None,
    }
}

/// A match found in the notice's own text (or its lot's, `on_lot`).
pub struct M {
    pub rule: &'static str,
    pub severity: Severity,
    pub quota: Option<(QuotaKind, i64, bool)>,
    pub on_lot: bool,
}

pub fn m(rule: &'static str, severity: Severity, quota: Option<(QuotaKind, i64, bool)>) -> M {
    M {
        rule,
        severity,
        quota,
        on_lot: false,
    }
}

pub fn record(x: &N) -> NoticeRecord {
    let published = (!x.published.is_empty()).then(|| PortalTime {
        utc: Some(
            chrono::DateTime::parse_from_rfc3339(&x.published)
                .unwrap()
                .with_timezone(&chrono::Utc),
        ),
        original: x.published.clone(),
    });
    NoticeRecord {
        external_id: x.ext.clone(),
        number: Some(format!("{}-1", x.ext)),
        title: format!("Услуги {}", x.ext),
        agency: x.agency.map(|(bin, name)| Agency {
            id: bin.into(),
            scheme: Some("KZ-BIN".into()),
            name_ru: Some(name.into()),
            ..Default::default()
        }),
        amount: x.amount,
        currency: Some(x.currency.into()),
        published,
        lots: x
            .lots
            .iter()
            .enumerate()
            .map(|(i, a)| LotRecord {
                external_id: format!("{}-L{}", x.ext, i + 1),
                number: Some(format!("{}-ЗЦП{}", x.ext, i + 1)),
                title: Some("Лот".into()),
                amount: *a,
                ..Default::default()
            })
            .collect(),
        awards: x
            .supplier
            .map(|bin| AwardRecord {
                external_id: format!("aw-{}", x.ext),
                status: Some("active".into()),
                amount: x.amount,
                currency: Some(x.currency.into()),
                suppliers: vec![Supplier {
                    id: bin.into(),
                    scheme: "KZ-BIN".into(),
                    name: Some("ТОО Медиа".into()),
                }],
                ..Default::default()
            })
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

/// Store a notice through the store's own writes and record what the rules found.
pub fn add(store: &mut Store, source: &str, x: N, found: &[M]) {
    let src = store.ensure_source(source, source, "https://x").unwrap();
    let id = store.store_page(src, &[record(&x)], None).unwrap().all[0];
    let input = store.scan_input(id).unwrap().unwrap();
    let matches: Vec<NewMatch> = found
        .iter()
        .map(|f| {
            let t = input
                .targets
                .iter()
                .find(|t| t.lot_id.is_some() == f.on_lot && t.document_id.is_none())
                .unwrap();
            NewMatch {
                target: t.target,
                lot_id: t.lot_id,
                document_id: None,
                rule_id: f.rule.into(),
                severity: f.severity,
                score: 1.0,
                evidence: t.text.clone(),
                evidence_start: 0,
                start: 0,
                end: 1,
                quotas_json: "[]".into(),
                quota_kind: f.quota.map(|q| q.0),
                quota_count: f.quota.map(|q| q.1),
                quota_period: f.quota.map(|_| Period::Month),
                quota_source: f.quota.map(|_| "text"),
                quota_label: None,
                quota_sure: f.quota.map(|q| q.2),
                reasons_json: None,
            }
        })
        .collect();
    store
        .record_scan(&input, "v1", &matches, &|_| Vec::new(), true)
        .unwrap();
}
