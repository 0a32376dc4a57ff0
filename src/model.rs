//! Plain data shared by the modules: what a source yields, how severe a match is.
//! Nothing here does I/O; every other module may depend on it, it depends on none.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How serious a rule's finding is. Ordered: `Low < Medium < High`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Low, Severity::Medium, Severity::High];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }

    /// Numeric rank stored in the database (1 low, 2 medium, 3 high) so SQL can compare.
    pub fn rank(self) -> i64 {
        match self {
            Severity::Low => 1,
            Severity::Medium => 2,
            Severity::High => 3,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            other => Err(format!(
                "unknown severity {other:?} (expected low, medium or high)"
            )),
        }
    }
}

/// A time as the portal wrote it, and what it means in UTC where that could be worked out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalTime {
    pub utc: Option<chrono::DateTime<chrono::Utc>>,
    /// The portal's own string, kept verbatim as evidence ("2026-04-15 22:46:05").
    pub original: String,
}

/// The buyer (customer) or, where the portal names none, the organiser of a procurement.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Agency {
    /// The identifier in its scheme: the 12-digit BIN for Kazakhstan (leading zeros kept).
    pub id: String,
    /// Identifier scheme, e.g. "KZ-BIN", or an OCDS `identifier.scheme`.
    pub scheme: Option<String>,
    pub name_ru: Option<String>,
    pub name_kk: Option<String>,
    pub name_en: Option<String>,
    pub region: Option<String>,
}

/// An attachment a source points to; the pipeline downloads and extracts it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DocumentRef {
    pub url: String,
    pub file_name: Option<String>,
    pub title: Option<String>,
    /// The portal marks it as the technical specification (fetched first).
    pub is_spec: bool,
    pub media_type: Option<String>,
    /// The award (contract) whose document it is, where a source brings a contract's
    /// documents to its notice (goszakup: `contract-{id}`). Left out of the snapshot when
    /// none, so other records keep their hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<String>,
}

/// One lot of a notice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LotRecord {
    pub external_id: String,
    pub number: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub amount: Option<f64>,
    pub quantity: Option<f64>,
    pub status: Option<String>,
    pub documents: Vec<DocumentRef>,
}

/// A company (or person) a notice was awarded to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Supplier {
    /// The identifier in its scheme: a 12-digit BIN/IIN for Kazakhstan, an OCDS
    /// `identifier.id`, or the publisher's own party id.
    pub id: String,
    /// "KZ-BIN", an OCDS `identifier.scheme`, or "OCDS-party" for a publisher's own id.
    pub scheme: String,
    pub name: Option<String>,
}

/// Who won a notice (or some of its lots): one award, with the contract signed on it where
/// the source says. Only sources that publish contract data (OCDS `awards[]`, `contracts[]`)
/// fill these.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AwardRecord {
    /// The award's id, unique within the notice.
    pub external_id: String,
    /// "pending", "active", "cancelled", "unsuccessful" (OCDS award status).
    pub status: Option<String>,
    pub date: Option<PortalTime>,
    pub amount: Option<f64>,
    pub currency: Option<String>,
    pub suppliers: Vec<Supplier>,
    /// The lots (their `external_id`s) the award covers; empty for the whole notice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lots: Vec<String>,
    pub contract_id: Option<String>,
    pub contract_status: Option<String>,
    pub contract_amount: Option<f64>,
    pub contract_signed: Option<PortalTime>,
}

/// One procurement notice (announcement) as a source maps it from the portal's shapes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NoticeRecord {
    /// The portal's own id for the notice, unique within the source.
    pub external_id: String,
    /// The human-facing number ("17163708-1").
    pub number: Option<String>,
    pub title: String,
    pub title_kk: Option<String>,
    pub description: Option<String>,
    pub agency: Option<Agency>,
    pub amount: Option<f64>,
    /// ISO 4217 ("KZT").
    pub currency: Option<String>,
    /// Status name as a person reads it ("Опубликовано"), or the portal's code where no name is known.
    pub status: Option<String>,
    /// The portal's status code ("210"), kept to detect cancellation.
    pub status_code: Option<String>,
    /// Procurement method name ("Открытый конкурс").
    pub method: Option<String>,
    pub published: Option<PortalTime>,
    pub deadline: Option<PortalTime>,
    /// Public URL of the notice on the portal.
    pub url: Option<String>,
    pub region: Option<String>,
    pub lots: Vec<LotRecord>,
    pub documents: Vec<DocumentRef>,
    /// Awards and contracts, where the source publishes them. Left out of the stored
    /// snapshot when empty, so records of sources without awards keep their hash.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub awards: Vec<AwardRecord>,
    /// The responses the record was read from, as they came (a listing page shared by the
    /// page's records, the notice's own pages): kept as evidence with the record.
    #[serde(skip)]
    pub payloads: Vec<Payload>,
    /// This record only brings `awards` to the notice of the same `external_id` (a goszakup
    /// contract of an announcement): where the source already holds that notice, the store
    /// keeps its fields, lots and documents and adds or updates these awards; where it does
    /// not, the record is stored as it is (what the contract says of its announcement).
    #[serde(skip)]
    pub attach: bool,
    /// A notice (announcement, contract) or a plan point (`plan`): kept in `notices.kind`.
    #[serde(skip)]
    pub kind: NoticeKind,
    /// The portal's subject type where it says (goszakup: "1" goods, "2" works,
    /// "3" services): the backfill's candidates are services.
    #[serde(skip)]
    pub subject_type: Option<String>,
    /// Catalogue codes (ENSTRU/KTRU) of its plan points, lots or units.
    #[serde(skip)]
    pub codes: Vec<String>,
    /// The plan points it names (goszakup plan point ids): a plan its own, an announcement
    /// its lots', a contract its units'. A plan and what follows it share one.
    #[serde(skip)]
    pub plan_points: Vec<String>,
}

/// What a stored notice is. Its text form is in the database (`notices.kind`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoticeKind {
    /// An announcement, a contract, a tender of any source.
    #[default]
    Notice,
    /// A plan point: what an agency plans to buy, before any announcement.
    Plan,
}

impl NoticeKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Notice => "notice",
            NoticeKind::Plan => "plan",
        }
    }
}

/// One response from a portal, byte for byte as it came (after any `Content-Encoding` was
/// undone): the evidence of the records read from it. Clones share the bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload {
    /// Where the bytes came from (the final URL, after redirects).
    pub url: String,
    /// The HTTP status (sources read only successful answers).
    pub status: u16,
    pub content_type: Option<String>,
    pub fetched_at: chrono::DateTime<chrono::Utc>,
    pub body: bytes::Bytes,
}
